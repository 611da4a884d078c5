"""freshrec's simulated world: its typed configuration here, the world itself in ``freshrec.simulators.world``.

>>> from freshrec.simulators import WorldConfig
>>> WorldConfig.regime("stationary").replace(users__users=500).users.users
500
"""

from freshrec.simulators.config import (
    CatalogConfig,
    ChoiceConfig,
    ConfigError,
    SlateConfig,
    UserConfig,
    WorldConfig,
)

__all__ = ["CatalogConfig", "ChoiceConfig", "ConfigError", "SlateConfig", "UserConfig", "WorldConfig"]
