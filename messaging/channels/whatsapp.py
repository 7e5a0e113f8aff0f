"""WhatsApp via Twilio's Messages API.

Meta's rules: a business may write free text only inside the 24-hour window after the person wrote to it, or to a
person who opted in; a first contact needs an approved Content template (`content_sid` + `content_variables`, never
a `Body`). Which messages may go this way is decided in messaging.routing; this class only speaks the API.
"""

from __future__ import annotations

import json
from typing import Any

from messaging.channels.base import Outbound
from messaging.channels.sms import TwilioSms


class TwilioWhatsApp(TwilioSms):
    name = "whatsapp"
    address_prefix = "whatsapp:"

    def __init__(self, client: Any, from_number: str) -> None:
        super().__init__(client, from_number=f"whatsapp:{from_number}")

    def _parameters(self, message: Outbound) -> dict[str, Any]:
        parameters = super()._parameters(message)
        parameters["to"] = self.address_prefix + message.to
        if message.content_sid:
            del parameters["body"]
            parameters["content_sid"] = message.content_sid
            parameters["content_variables"] = json.dumps(message.content_variables)
        return parameters
