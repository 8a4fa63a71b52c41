{# The UTC ISO-8601 text of a timestamp with milliseconds and Z, as the producers write it. #}
{% macro lakehouse_iso_ms(ts) -%}
    date_format({{ ts }}, "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")
{%- endmacro %}
