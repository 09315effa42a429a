"""Gateway: the one public door — authentication, API keys, routing to services, one OpenAPI."""
