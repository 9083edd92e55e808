"""Plan, load patterns, runner, events and the run store."""
