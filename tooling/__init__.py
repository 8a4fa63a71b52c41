"""The tooling around the pipeline: the ``./lakehouse`` commands, the demo, the report,
settings, the dbt runner and set-up helpers. What moves events lives in ``streaming``."""
