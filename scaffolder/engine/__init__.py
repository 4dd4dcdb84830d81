"""The run engine every app shares: durable runs of idempotent, registered step kinds.

Public entry points live in `runner` (start_run, execute_step, advance_run, cancel_run,
retry_run, recover_stalled_steps) and `registry` (StepKind, register_step).
"""
