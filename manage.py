#!/usr/bin/env python
"""Django's command-line entry point for Configurator in a source checkout."""

from configurator.__main__ import main

if __name__ == "__main__":
    main()
