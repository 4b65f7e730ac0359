"""omnistock: omnichannel order management with one unified, real-time stock."""

__version__ = "0.1.0"
