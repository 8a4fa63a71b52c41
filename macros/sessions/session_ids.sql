{#
    A web session's id: sha2 over the JSON of its key and start. Deterministic, 256-bit, and
    a null user_id (logged out) stays distinct from any user.
#}
{% macro lakehouse_web_session_id(session_start) -%}
    case
        when {{ session_start }} is not null then sha2(
            to_json(named_struct(
                'host', host,
                'ip', ip,
                'user_id', user_id,
                'session_start', {{ lakehouse_iso_ms(session_start) }}
            )),
            256
        )
    end
{%- endmacro %}


{# An IDE session's id: user#product#start (readable; the parts never hold '#'). #}
{% macro lakehouse_ide_session_id(session_start) -%}
    case
        when {{ session_start }} is not null
            then concat_ws('#', user_id, product_code, {{ lakehouse_iso_ms(session_start) }})
    end
{%- endmacro %}
