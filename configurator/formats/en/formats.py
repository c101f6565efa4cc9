"""Date formats of the admin in English (FORMAT_MODULE_PATH): every moment shown says its
time zone, as `configurator.times.moment` writes it."""

DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
