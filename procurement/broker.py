"""The embedded broker: kombu's filesystem transport, with messages written atomically.

kombu writes a message straight under its final name and only then fills it, while a
worker polling the folder moves and reads any `*.<queue>.msg` it lists: a message caught
in between is read empty and the worker dies on the JSON error ("Unrecoverable error:
JSONDecodeError"). Here a message is written under a name no reader takes (a leading dot
and `.tmp`), then renamed into place, which is atomic on one filesystem.

`procurement.celery` makes it the `filesystem://` scheme's transport, so the broker URL
alone still decides (a test or a deployment switching to Redis is not held back).
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu import transport as kombu_transport
from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.tmp")
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel


def install() -> None:
    """Serve `filesystem://` URLs with this transport instead of kombu's."""
    kombu_transport.TRANSPORT_ALIASES["filesystem"] = f"{__name__}:Transport"
