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
