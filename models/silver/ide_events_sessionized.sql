{{
    config(
        incremental_strategy='upsert',
        unique_key=['user_id', 'event_id', 'product_code', '`timestamp`'],
        partition_by=['event_date'],
        prune_partitions='event_date',
    )
}}

{#-
    Sessions per (user_id, product_code); only the seed's user actions start or extend one.
    Incremental: the rows of this run's windows that changed (int_ide_events_resessionized).
    Full refresh: every staged event, sessionized at once.
-#}
{{ lakehouse_sessionized_events(
    lakehouse_ide_stream(),
    ref('int_ide_events_resessionized'),
    ref('stg_bronze__ide_events'),
) }}
