{# end > start on every row where both are set. Returns the rows where it is not. #}
{% test interval_is_positive(model, start_column, end_column) %}

select *
from {{ model }}
where {{ start_column }} is not null
    and {{ end_column }} is not null
    and not {{ end_column }} > {{ start_column }}

{% endtest %}
