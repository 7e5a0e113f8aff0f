"""Inbound messages with several organisations: a message to an organisation's own number is that organisation's
(Twilio's To), whoever wrote to the person last; to any other number it goes to the organisation that wrote last."""

from __future__ import annotations

from sqlalchemy import select

from outreach.crypto import PhoneVault
from outreach.store.models import Message
from tests.conftest import World
from tests.messaging_world import numbers, outbox_for, queue, webhook_server
from tests.test_organisations import ROTTERDAM, THE_HAGUE


def test_a_message_to_an_organisations_number_is_routed_to_it_and_otherwise_to_who_wrote_last(world: World) -> None:
    both = [ROTTERDAM, THE_HAGUE]
    with webhook_server(world, organisations=both, language={"detector": "py3langid"}) as (settings, server):
        store, vault = world.store(), PhoneVault.from_settings(settings)
        url = f"{server.url}/twilio/inbound"
        replier, stopper, shared, whatsapp = numbers(4)
        for index, number in enumerate((replier, stopper, shared, whatsapp)):
            # Rotterdam wrote to each of them last.
            queue(store, vault, number, status="sent", organisation="rotterdam", provider_sid=f"SM{index:032d}")
        hague = str(THE_HAGUE["from_number"])

        assert world.gateway.inbound(url, replier, "Hoi, wie is dit?", to=hague) == 200
        assert world.gateway.inbound(url, stopper, "STOPPEN", to=hague) == 200  # our keyword: we confirm it ourselves
        assert world.gateway.inbound(url, shared, "Wie is dit?") == 200  # to the account's shared number
        assert world.gateway.inbound(url, whatsapp, "Hallo", whatsapp=True, to=hague) == 200

        with store.session() as session:
            routed = [
                organisation
                for (organisation,) in session.execute(
                    select(Message.organisation).where(Message.direction == "in").order_by(Message.id)
                )
            ]
            confirmation = session.execute(
                select(Message.organisation, Message.body).where(Message.kind == "opt_out_confirmation")
            ).one()
        assert routed == ["den-haag", "den-haag", "rotterdam", "den-haag"]
        # The confirmation comes from the organisation the person wrote to, signed and sent as that one.
        assert confirmation[0] == "den-haag" and str(THE_HAGUE["name"]) in confirmation[1]
        outbox_for(settings, store).drain()
        assert [m.from_ for m in world.gateway.sent_to()[stopper]] == [hague]
