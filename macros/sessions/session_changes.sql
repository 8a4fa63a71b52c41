{#
    How a sessions model reads a run's re-sessionized window events (int_*_events_resessionized).
    `in_step`: the model's watermark equals the one the events model had when the windows were
    re-sessionized, so `is_changed` and `previous_session_id` describe changes to this model's
    own sessions too. Otherwise (a run skipped this model) every session of the windows is
    re-aggregated and superseded sessions are found by overlap: the sessions that changed since
    this model's mark all lie inside the windows.
#}


{#
    A sessions model's plan for a run: its batch (from the resessionized events, never past
    the events model's mark), whether it is in step with the events model (it took in exactly
    what the events model took before this run, so the windows' previous session ids name
    every superseded session), and, when it is not, the windows' dates to find superseded
    sessions by overlap.
#}
{% macro lakehouse_sessions_plan(resessionized, events_model) %}
    {%- set batch = lakehouse_consumer_batch(resessionized, lakehouse_model_mark(events_model)) -%}
    {%- set in_step = batch.get('stored_mark') is not none and batch.low == batch.stored_mark -%}
    {%- set window_dates = none -%}
    {%- if is_incremental() and not in_step and not batch.empty -%}
        {%- set window_dates = lakehouse_window_dates(resessionized) -%}
    {%- endif -%}
    {% do return({'batch': batch, 'in_step': in_step, 'window_dates': window_dates}) %}
{% endmacro %}


{# The window events of the sessions to re-aggregate, as a whole select. #}
{% macro lakehouse_changed_session_events(window_events, in_step) %}
    select {{ window_events }}.*
    from {{ window_events }}
    left semi join (
        select distinct session_id
        from {{ window_events }}
        where session_id is not null{% if in_step %} and is_changed{% endif %}
    ) as changed
        on {{ window_events }}.session_id = changed.session_id
{%- endmacro %}


{#
    The stored sessions a run supersedes, (session_id, session_date), as a whole select: in
    step, the previous session ids no window event carries any more; otherwise the stored
    sessions (`stored`, read on `window_dates` only) of a window's key that overlap it under
    an id no window event carries.
#}
{% macro lakehouse_superseded_sessions(window_events, windows, stored, key_columns, start_col, end_col, in_step, window_dates) %}
    {%- if in_step %}
    select distinct
        {{ window_events }}.previous_session_id as session_id,
        to_date({{ window_events }}.previous_{{ start_col }}) as session_date
    from {{ window_events }}
    left anti join {{ window_events }} as current_sessions
        on {{ window_events }}.previous_session_id = current_sessions.session_id
    where {{ window_events }}.previous_session_id is not null
    {%- else %}
    select stored.session_id, stored.session_date
    from {{ stored }} as stored
    inner join {{ windows }} as windows
        on {{ lakehouse_key_match(key_columns, 'stored', 'windows') }}
        and stored.{{ start_col }} < windows.window_end
        and windows.window_start < stored.{{ end_col }}
    left anti join {{ window_events }} as current_sessions
        on stored.session_id = current_sessions.session_id
    where {{ lakehouse_in_dates('stored.session_date', window_dates) }}
    {%- endif %}
{%- endmacro %}


{#
    Rows that tell the upsert strategy to delete stored sessions (`delete_when='@is_superseded'`):
    one per row of `superseded` (session_id, session_date), in the model's column order, with
    every other column null, and is_superseded true.
#}
{% macro lakehouse_superseded_rows(superseded, columns) -%}
    select
        {% for c in columns -%}
        {{ c if c in ['session_id', 'session_date'] else 'null' }} as {{ c }},
        {% endfor -%}
        true as is_superseded
    from {{ superseded }}
{%- endmacro %}
