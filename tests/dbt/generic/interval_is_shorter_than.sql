{# end − start < max_seconds on every row where both are set. Returns the rows where it is not. #}
{% test interval_is_shorter_than(model, start_column, end_column, max_seconds) %}

select *
from {{ model }}
where {{ start_column }} is not null
    and {{ end_column }} is not null
    and not {{ end_column }} < {{ start_column }} + make_dt_interval(0, 0, 0, {{ max_seconds }})

{% endtest %}
