"""`logging.get_logger` with the `warning_once` helper the reference files call."""

import logging as _std_logging

_seen = set()


class _Logger(_std_logging.LoggerAdapter):
    def warning_once(self, msg, *args):
        if msg not in _seen:
            _seen.add(msg)
            self.warning(msg, *args)


def get_logger(name=None):
    return _Logger(_std_logging.getLogger(name or "transformers"), {})
