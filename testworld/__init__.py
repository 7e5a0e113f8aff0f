"""The test world: a fixture ad site and a Twilio-compatible test gateway, both real HTTP servers on 127.0.0.1.

`outreach demo` uses them too, so they live in an importable package.
"""
