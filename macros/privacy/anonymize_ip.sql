{#
    The visitor's IP as staging keeps it, by var privacy__ip_anonymization:
      none      as received;
      truncate  IPv4 with its last octet zeroed (a /24), IPv6 cut to its first three groups as
                written (a /48 when written in full), followed by '::';
      hash      SHA-256 of env PRIVACY_IP_SALT and the address (stable while the salt is).
    Session keys hash the kept value, so `truncate` joins visitors of one /24 who share host
    and (absent) user id into one session; `hash` changes no session.
#}
{% macro lakehouse_anonymize_ip(ip) -%}
    {%- set mode = var('privacy__ip_anonymization') -%}
    {%- if mode == 'none' -%}
    {{ ip }}
    {%- elif mode == 'truncate' -%}
    case
        when {{ ip }} rlike '^[0-9]{1,3}([.][0-9]{1,3}){3}$'
            then regexp_replace({{ ip }}, '[.][0-9]{1,3}$', '.0')
        when {{ ip }} like '%:%'
            then concat(array_join(slice(split({{ ip }}, ':'), 1, 3), ':'), '::')
        else {{ ip }}
    end
    {%- elif mode == 'hash' -%}
    {%- set salt = env_var('PRIVACY_IP_SALT', '') -%}
    {%- if execute and salt | length < 16 -%}
    {%- do exceptions.raise_compiler_error(
        "privacy__ip_anonymization is hash: set PRIVACY_IP_SALT to a secret of at least 16 "
        ~ "characters, and keep it (a new salt gives every visitor a new key)") -%}
    {%- endif -%}
    sha2(concat('{{ salt | replace("'", "") }}', {{ ip }}), 256)
    {%- else -%}
    {%- do exceptions.raise_compiler_error(
        "privacy__ip_anonymization must be none, truncate or hash, not '" ~ mode ~ "'") -%}
    {%- endif -%}
{%- endmacro %}
