"""Built-in PSA connectors for sla-connector: ConnectWise PSA, Jira Service Management, Zendesk
and the simulator, a package each (``connectwise``, ``jira_sm``, ``zendesk``, ``simulator``),
cut the same way and importing nothing from each other. Beside them the layer they share:
``http`` (retries, rate limits, error classes named by recovery), ``options`` (reading a
connector's keys), ``values`` (times, ids and mapped priorities in vendor JSON), ``writes``
(the ambiguous-write re-read) and ``checks`` (the ``check()`` verdict). Each package's
``create`` registers in the entry-point group ``sla_connector.connectors`` exactly as a
third-party connector would.
"""
