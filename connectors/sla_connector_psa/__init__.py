"""Built-in PSA connectors for sla-connector: ConnectWise PSA, Jira Service Management, Zendesk
and the embedded simulator. Each registers in the entry-point group
``sla_connector.connectors`` exactly as a third-party connector would.
"""
