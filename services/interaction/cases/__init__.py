"""Cases: submission, workflow, clocks, publication."""
