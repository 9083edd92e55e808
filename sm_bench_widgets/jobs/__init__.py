"""Running a benchmark as a SageMaker Processing job: the job's entrypoint and its host."""
