"""Processing jobs that really run on the local emulator.

CreateProcessingJob starts one local process per host with ``/opt/ml`` mapped to a
temporary folder; inputs come from and outputs go to the emulator's S3, the output goes
to its CloudWatch Logs, and DescribeProcessingJob, ListProcessingJobs and
StopProcessingJob follow the job as SageMaker does. ``ProcessingJobs`` is the service the
wire layer hands those actions to.
"""

from __future__ import annotations

from sm_bench_widgets.emulator.processing.service import ACTIONS, ProcessingJobs

__all__ = ["ACTIONS", "ProcessingJobs"]
