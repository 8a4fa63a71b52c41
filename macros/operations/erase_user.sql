{#
    Erase one person's events from bronze to silver (`./lakehouse erase`, which then rebuilds
    gold from what remains):

        dbt run-operation erase_user --args '{user_id: "42"}'      web and IDE events
        dbt run-operation erase_user --args '{player_id: "p1"}'    game events

    A user's sessions hold only their own events (the user id is part of every session key),
    so deleting their events and sessions leaves every other session as it was. Deleted rows
    stay in older Delta files until VACUUM passes its retention, and in Kafka until the
    topic's retention: say so to whoever asked for the erasure.
#}
{% macro erase_user(user_id=none, player_id=none) %}
    {%- if user_id is none and player_id is none -%}
        {%- do exceptions.raise_compiler_error("erase_user: pass user_id or player_id") -%}
    {%- endif -%}
    {%- set targets = [] -%}
    {%- if user_id is not none -%}
        {%- set who = lakehouse_sql_string(user_id) -%}
        {%- for topic in ['web_events', 'ide_events'] -%}
            {%- do targets.append(('bronze', topic, none, "get_json_object(raw_value, '$.user_id') = " ~ who)) -%}
        {%- endfor -%}
        {%- for name in [
            'stg_bronze__web_events', 'stg_bronze__ide_events',
            'int_web_events_resessionized', 'int_ide_events_resessionized',
            'web_events_sessionized', 'ide_events_sessionized', 'web_sessions', 'ide_sessions',
        ] -%}
            {%- do targets.append(('silver', name, 'user_id', 'user_id = ' ~ who)) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if player_id is not none -%}
        {%- set who = lakehouse_sql_string(player_id) -%}
        {%- do targets.append(('bronze', 'game_events', none, "get_json_object(raw_value, '$.player_id') = " ~ who)) -%}
        {%- do targets.append(('silver', 'stg_bronze__game_events', 'player_id', 'player_id = ' ~ who)) -%}
    {%- endif -%}
    {%- for schema, name, column, condition in targets -%}
        {%- set relation = adapter.get_relation(database=none, schema=schema, identifier=name) -%}
        {%- if relation is none -%}
            {%- do log(schema ~ '.' ~ name ~ ': no such table, skipped', info=true) -%}
        {%- elif column is none or column in (adapter.get_columns_in_relation(relation) | map(attribute='name') | list) -%}
            {%- set result = run_query('delete from ' ~ relation ~ ' where ' ~ condition) -%}
            {%- set deleted = result.rows[0][0] if result and result.rows else 0 -%}
            {%- do log(relation ~ ': ' ~ deleted ~ ' row(s) deleted', info=true) -%}
        {%- endif -%}
    {%- endfor -%}
{% endmacro %}


{# A SQL string literal of `value` (Spark escapes quotes and backslashes with a backslash). #}
{% macro lakehouse_sql_string(value) -%}
    '{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}
