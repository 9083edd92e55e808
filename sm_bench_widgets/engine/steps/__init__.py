"""The steps of a run, each a small unit with explicit inputs and outputs.

plan (``plan.py`` of the engine, and ``choose`` here for the concurrency phase) → deploy →
probe cold starts → load → race / stop → collect metrics → tear down. The orchestrator
threads them together; a Processing job's entrypoint or a resumed run uses the same ones.
"""
