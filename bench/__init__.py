"""Benchmarks of the lakehouse on this machine: ingest throughput, the cost of an incremental
dbt run as history grows, the collector's latency and dbt's fixed cost.

    ./lakehouse bench            every benchmark at full size (about 45 minutes on 2 cores)
    ./lakehouse bench --smoke    every benchmark, tiny sizes (a few minutes; CI runs it)

Results: ``bench/results/latest.md`` and ``latest.json`` (smoke runs write under
``LAKEHOUSE_DIR/bench`` instead, so they never overwrite the committed figures).
"""
