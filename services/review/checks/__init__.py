"""Machine checks (机审): pure functions over an item's text and HTML, one module per family.

Nothing here knows about HTTP, Kafka or the database; `engine.run_checks` composes them.
"""
