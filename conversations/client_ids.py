"""A message is stored once per client_id: what a retry that comes too late is told."""


class AlreadyStored(Exception):
    """A client_id found already stored after the next seq was taken: raised inside the
    transaction so that it rolls the seq back; carries the stored message (a chat's or a
    team room's)."""

    def __init__(self, message):
        super().__init__(message.pk)
        self.message = message
