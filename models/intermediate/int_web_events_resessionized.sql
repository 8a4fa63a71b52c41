{#-
    This run's web events and every stored one inside the windows they force to be
    recomputed, per (host, ip, user_id), sessionized anew (lakehouse_resessionize). A window
    holds whole sessions, so web_sessions aggregates the changed ones from here alone.
-#}
{{ lakehouse_resessionize(
    lakehouse_web_stream(),
    ref('stg_bronze__web_events'),
    'web_events_sessionized',
) }}
