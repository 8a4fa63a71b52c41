{#
    The visitor's IP as staging keeps it, by var privacy__ip_anonymization:
      none      as received;
      truncate  IPv4 with its last octet zeroed (a /24), IPv6 cut to its first three groups as
                written (a /48 when written in full), followed by '::';
      hash      SHA-256 of env PRIVACY_IP_SALT and the address (stable while the salt is);
                the salt reaches Spark as a session setting, never the SQL's text.
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
    {#- the salt is a Spark setting that profiles.yml gives the session from env
        PRIVACY_IP_SALT, substituted by Spark as it parses: the compiled SQL, dbt's logs
        and its manifest hold only the placeholder. A blank IP stays blank (null), so that
        staging quarantines it, as in the other modes. -#}
    {%- set salt = "'${" ~ lakehouse_ip_salt_setting() ~ "}'" -%}
    sha2(
        concat(
            case
                when length({{ salt }}) >= 16 then {{ salt }}
                else raise_error(
                    'privacy__ip_anonymization is hash: set PRIVACY_IP_SALT to a secret of at '
                    || 'least 16 characters, and keep it (a new salt gives every visitor a new key)'
                )
            end,
            nullif(trim({{ ip }}), '')
        ),
        256
    )
    {%- else -%}
    {%- do exceptions.raise_compiler_error(
        "privacy__ip_anonymization must be none, truncate or hash, not '" ~ mode ~ "'") -%}
    {%- endif -%}
{%- endmacro %}

{#- The Spark setting that holds the IP salt (profiles.yml sets it from env PRIVACY_IP_SALT).
    Its name must not match spark.redaction.regex (secret, password, token, ...): Spark
    substitutes a redacted setting as the text "*********(redacted)", which would hash every
    IP with that instead of the salt. -#}
{% macro lakehouse_ip_salt_setting() -%}
    spark.lakehouse.ip_hash.salt
{%- endmacro %}
