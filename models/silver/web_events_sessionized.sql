{{
    config(
        incremental_strategy='upsert',
        unique_key='event_key',
        partition_by=['event_date'],
        prune_partitions='event_date',
    )
}}

{#-
    Sessions per (host, ip, user_id); a logged-out visitor (null user_id) is a key of its own.
    Incremental: the rows of this run's windows that changed (int_web_events_resessionized).
    Full refresh: every staged event, sessionized at once.
-#}
{{ lakehouse_sessionized_events(
    lakehouse_web_stream(),
    ref('int_web_events_resessionized'),
    ref('stg_bronze__web_events'),
) }}
