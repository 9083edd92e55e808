"""The engine: plan, run steps and their orchestrator, load patterns, events, run store."""
