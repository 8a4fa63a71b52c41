{#
    Which staged events a silver model takes in this run: those with
    low < _staged_at <= high, where `low` is what the model recorded after its last run (the
    table property lakehouse.staged_through) and `high` the newest `_staged_at` now. On the
    first run or a full refresh, `low` is none: everything up to `high`.
    Returns {'low': literal or none, 'high': literal or none, 'empty': bool}.
#}
{% macro lakehouse_staged_batch(staging) %}
    {#- unit tests: the staging fixture is the batch -#}
    {%- if not execute or lakehouse_is_unit_test() -%}
        {% do return({'low': none, 'high': none, 'empty': false}) %}
    {%- endif -%}
    {%- set high = run_query('select cast(max(_staged_at) as string) from ' ~ staging).columns[0].values()[0] -%}
    {#- a namespace: a plain `set` inside the loop would not outlive it -#}
    {%- set found = namespace(low=none) -%}
    {%- if is_incremental() -%}
        {%- for row in run_query('show tblproperties ' ~ this).rows -%}
            {%- if row[0] == 'lakehouse.staged_through' -%}
                {%- set found.low = row[1] -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set low = found.low -%}
    {% do return({
        'low': none if low is none else "timestamp'" ~ low ~ "'",
        'high': none if high is none else "timestamp'" ~ high ~ "'",
        'empty': high is none or (low is not none and low == high),
    }) %}
{% endmacro %}


{# The where-clause of a staged batch (use with the staging model's `_staged_at`). #}
{% macro lakehouse_staged_filter(batch, column='_staged_at') -%}
    {%- if batch.empty -%}
        false
    {%- elif batch.low is none and batch.high is none -%}
        true
    {%- elif batch.low is none -%}
        {{ column }} <= {{ batch.high }}
    {%- else -%}
        {{ column }} > {{ batch.low }} and {{ column }} <= {{ batch.high }}
    {%- endif -%}
{%- endmacro %}


{# post-hook: record how far the model has read its staging model. #}
{% macro lakehouse_mark_staged_through(staging) %}
    {%- if execute -%}
        {%- set high = run_query('select cast(max(_staged_at) as string) from ' ~ staging).columns[0].values()[0] -%}
        {%- if high is not none -%}
            alter table {{ this }} set tblproperties ('lakehouse.staged_through' = '{{ high }}')
        {%- else -%}
            select 1
        {%- endif -%}
    {%- else -%}
        select 1
    {%- endif -%}
{% endmacro %}


{# A min/max query's two values as date literals, or none when there are no rows. #}
{% macro lakehouse_date_bounds(sql) %}
    {%- if not execute -%}
        {% do return(none) %}
    {%- endif -%}
    {%- if lakehouse_is_unit_test() -%}
        {#- fixtures are CTEs run_query cannot see: read every partition -#}
        {% do return({'low': "date'1900-01-01'", 'high': "date'9999-12-31'"}) %}
    {%- endif -%}
    {%- set row = run_query(sql).rows[0] -%}
    {%- if row[0] is none -%}
        {% do return(none) %}
    {%- endif -%}
    {% do return({'low': "date'" ~ row[0] ~ "'", 'high': "date'" ~ row[1] ~ "'"}) %}
{% endmacro %}


{# True while dbt compiles a model for one of its unit tests (inputs are fixture CTEs). #}
{% macro lakehouse_is_unit_test() -%}
    {{ return(model is mapping and model.get('resource_type') == 'unit_test') }}
{%- endmacro %}
