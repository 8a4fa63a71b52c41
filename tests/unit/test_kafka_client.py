"""Kafka client security from the environment: one source for Python and Java clients."""

from __future__ import annotations

import pytest

from streaming.kafka_client import KafkaSecurityError, load


def test_nothing_set_is_plaintext():
    security = load({})
    assert security.python_kwargs() == {"security_protocol": "PLAINTEXT"}
    assert security.spark_options() == {"kafka.security.protocol": "PLAINTEXT"}
    assert security.librdkafka_config() == {"security.protocol": "PLAINTEXT"}


def test_a_properties_file_as_kafka_tools_take_it(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    props = tmp_path / "client.properties"
    # as Kafka's tools read it: a continued line, and a quote in the password escaped for
    # JAAS (\") and again for the properties format (\\")
    props.write_text(
        r"""# the team's client settings
security.protocol=SASL_SSL
sasl.mechanism = SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \
    username="feeder" password="s3cr\\"et";
ssl.truststore.type=PEM
"""
        + f"ssl.truststore.location={ca}\n"
    )
    security = load({"KAFKA_CLIENT_PROPERTIES": str(props)})
    assert security.python_kwargs() == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "feeder",
        "sasl_plain_password": 's3cr"et',
        "ssl_check_hostname": True,
        "ssl_cafile": str(ca),
    }
    options = security.spark_options()
    assert options["kafka.sasl.mechanism"] == "SCRAM-SHA-512"
    assert options["kafka.sasl.jaas.config"].startswith(
        'org.apache.kafka.common.security.scram.ScramLoginModule required username="feeder"'
    )
    assert options["kafka.ssl.truststore.type"] == "PEM"
    assert security.librdkafka_config() == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": "feeder",
        "sasl.password": 's3cr"et',
        "ssl.endpoint.identification.algorithm": "https",
        "ssl.ca.location": str(ca),
    }


def test_variables_win_over_the_file(tmp_path):
    props = tmp_path / "client.properties"
    props.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n")
    env = {
        "KAFKA_CLIENT_PROPERTIES": str(props),
        "KAFKA_SASL_MECHANISM": "scram-sha-256",
        "KAFKA_SASL_USERNAME": "alice",
        "KAFKA_SASL_PASSWORD": "pw",
    }
    security = load(env)
    assert (security.protocol, security.mechanism, security.username) == (
        "SASL_PLAINTEXT",
        "SCRAM-SHA-256",
        "alice",
    )
    assert "ScramLoginModule" in security.spark_options()["kafka.sasl.jaas.config"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "SASL"}, "choose one of PLAINTEXT"),
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "needs a user name and password"),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "GSSAPI"},
            "SASL mechanism 'GSSAPI'",
        ),
        ({"KAFKA_CLIENT_PROPERTIES": "/nowhere/client.properties"}, "no such file"),
        ({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CAFILE": "/nowhere.pem"}, "does not exist"),
    ],
)
def test_settings_that_cannot_work_say_what_to_fix(env, message):
    with pytest.raises(KafkaSecurityError, match=message):
        load(env)


def test_the_local_brokers_sasl_listener_reads_back_the_clients_password(tmp_path):
    """server.properties is read with Java's Properties rules: the JAAS entry the broker sees
    must hold the password exactly, quotes, spaces and non-ASCII included."""
    from streaming import kafka_client, kafka_local

    password = 'pa ss"wörd\\x'
    security = kafka_client.KafkaSecurity("SASL_PLAINTEXT", "PLAIN", "feeder", password)
    broker = kafka_local.BrokerLayout(tmp_path, "127.0.0.1", 9092, 9093)
    config = tmp_path / "server.properties"
    config.write_text(kafka_local._server_properties(broker, security))
    jaas = kafka_client.read_properties(config)[
        "listener.name.sasl_plaintext.plain.sasl.jaas.config"
    ]
    assert kafka_client._jaas_value(jaas, "password") == password
    assert kafka_client._jaas_value(jaas, "user_feeder") == password
