{#
    The event streams the sessions chain serves, each stated once: its key, its event time,
    what identifies an event, its activity rule, the staged columns it carries and the names
    its silver contract gives them. The chain's macros (macros/sessions/chain.sql) take one
    of these; each stream's models name only the stream and their refs.

    key             the session key (nulls are values of their own)
    ts              the event-time column, under the stream's own name
    identity        the columns that identify an event (de-duplication, the events upsert)
    columns         the staged columns every chain table carries, under the stream's names
    renamed         {stream name: staging column} where the two differ
    actions         none (every event is an activity), or the seed that lists the activity
                    values of one column: {'seed': ..., 'column': ...}
    session_start   the contract's names for session_start_ts and session_end_ts
    session_end
    derived         {column: expression} computed from the carried columns
    events_columns  the silver events model's contract columns, in order
    session_id      the macro that gives a session's id from its start
#}


{# The web page-view stream: sessions per (host, ip, user_id), every page view an activity. #}
{% macro lakehouse_web_stream() %}
    {% do return({
        'name': 'web',
        'key': ['host', 'ip', 'user_id'],
        'ts': 'event_at',
        'identity': ['event_key'],
        'columns': [
            'event_key', 'host', 'ip', 'user_id', 'url', 'referrer', 'user_agent', 'country',
            'state', 'city', 'os', 'browser', 'device', 'event_at', 'event_date',
        ],
        'renamed': {},
        'actions': none,
        'session_start': 'session_start_at',
        'session_end': 'session_end_at',
        'derived': {'is_logged_in': 'user_id is not null'},
        'events_columns': [
            'event_key', 'session_id', 'host', 'ip', 'user_id', 'is_logged_in', 'url',
            'referrer', 'user_agent', 'country', 'state', 'city', 'os', 'browser', 'device',
            'event_at', 'event_date', 'session_start_at', 'session_end_at', 'is_cut_start',
        ],
        'session_id': lakehouse_web_session_id,
    }) %}
{% endmacro %}


{#
    The IDE usage stream: sessions per (user_id, product_code); only the seed's user actions
    start or extend one, IDE-generated events join the session they fall in.
#}
{% macro lakehouse_ide_stream() %}
    {% do return({
        'name': 'ide',
        'key': ['user_id', 'product_code'],
        'ts': '`timestamp`',
        'identity': ['user_id', 'event_id', 'product_code', '`timestamp`'],
        'columns': ['user_id', 'event_id', 'product_code', '`timestamp`', 'event_date'],
        'renamed': {'`timestamp`': 'event_at'},
        'actions': {'seed': 'ide_user_actions', 'column': 'event_id'},
        'session_start': 'session_start_ts',
        'session_end': 'session_end_ts',
        'derived': {},
        'events_columns': [
            'user_id', 'event_id', 'product_code', '`timestamp`', 'event_date',
            'session_start_ts', 'session_end_ts', 'session_id', 'is_cut_start',
        ],
        'session_id': lakehouse_ide_session_id,
    }) %}
{% endmacro %}


{# The join that flags a stream's activities on rows aliased `alias` (nothing when every event is one). #}
{% macro lakehouse_actions_join(stream, alias) -%}
    {%- if stream.actions is not none -%}
    left join (
        select distinct {{ stream.actions.column }} from {{ ref(stream.actions.seed) }}
    ) as user_actions
        on {{ alias }}.{{ stream.actions.column }} = user_actions.{{ stream.actions.column }}
    {%- endif -%}
{%- endmacro %}


{# Whether a row is an activity, given lakehouse_actions_join. #}
{% macro lakehouse_is_action(stream) -%}
    {{ 'true' if stream.actions is none else 'user_actions.' ~ stream.actions.column ~ ' is not null' }}
{%- endmacro %}


{#
    A stream's staged, well-formed events of `batch` as a whole select: the carried columns
    under the stream's names, and is_action.
#}
{% macro lakehouse_stream_staged(stream, staging, batch) %}
    select
        {%- for c in stream.columns %}
        staged.{{ stream.renamed.get(c, c) }} as {{ c }},
        {%- endfor %}
        {{ lakehouse_is_action(stream) }} as is_action
    from {{ staging }} as staged
    {{ lakehouse_actions_join(stream, 'staged') }}
    where not staged.is_quarantined
        and {{ lakehouse_batch_filter(batch, 'staged._bronze_version') }}
{%- endmacro %}


{#
    The select list of `names` from sessionized rows (the carried columns, session_start_ts,
    session_end_ts, is_cut_start, session_id): the stream's session bounds and derived
    columns under their contract names.
#}
{% macro lakehouse_stream_select(stream, names) -%}
    {%- set exprs = dict(stream.derived) -%}
    {%- do exprs.update({stream.session_start: 'session_start_ts', stream.session_end: 'session_end_ts'}) -%}
    {%- for name in names -%}
        {%- set expr = exprs.get(name, name) -%}
        {{ expr if expr == name else expr ~ ' as ' ~ name }}{{ ',\n        ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
