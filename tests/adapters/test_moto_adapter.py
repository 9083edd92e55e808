"""The moto internals the emulator relies on are still there."""

from __future__ import annotations

import moto

from sm_bench_widgets.emulator import moto_adapter


def test_moto_still_has_the_internals_the_emulator_uses():
    problems = moto_adapter.compatibility_problems()
    assert not problems, (
        "sm_bench_widgets/emulator/moto_adapter.py relies on moto internals that moto "
        f"{moto.__version__} changed:\n  "
        + "\n  ".join(problems)
        + "\nPin moto below this version in pyproject.toml, or update the adapter to the "
        "new internals (the emulator tests in tests/emulator then show whether it works)."
    )


def test_a_wiped_account_starts_empty():
    account = "000000000123"
    backend = moto_adapter.sagemaker_backend(account, "us-east-1")
    backend.create_model(
        model_name="m",
        execution_role_arn=f"arn:aws:iam::{account}:role/r",
        primary_container={"Image": "x"},
        vpc_config=None,
        containers=None,
        tags=[],
    )
    assert "m" in moto_adapter.sagemaker_models(backend)
    moto_adapter.wipe_account(account)
    assert moto_adapter.sagemaker_models(moto_adapter.sagemaker_backend(account, "us-east-1")) == {}
    moto_adapter.wipe_account(account)
