"""Alert channels: one module per kind, each holding its config model and its sender.

``base`` is the interface (``ChannelSettings``, ``Channel``, ``ChannelError``), ``registry``
finds the kinds through the ``orderprobe.channels`` entry-point group, ``text`` keeps page
text inert and within the bots' limits. Built in: ``webhook``, ``feishu`` (also ``lark``),
``dingtalk``, ``wecom``, ``slack`` and ``smtp`` (``type: email``). Every kind passes
``tests/test_channel_contract.py``.
"""

from orderprobe.scheduler.channels.base import Channel, ChannelError, ChannelSettings
from orderprobe.scheduler.channels.registry import build, kinds

__all__ = ["Channel", "ChannelError", "ChannelSettings", "build", "kinds"]
