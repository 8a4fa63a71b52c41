{#-
    This run's IDE events and every stored one inside the windows they force to be
    recomputed, per (user_id, product_code), sessionized anew (lakehouse_resessionize). A
    window holds whole sessions, IDE-generated events inside them included.
-#}
{{ lakehouse_resessionize(
    lakehouse_ide_stream(),
    ref('stg_bronze__ide_events'),
    'ide_events_sessionized',
) }}
