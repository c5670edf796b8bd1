"""``python -m glyphvae``: the same command line as ``glyphvae``."""

from glyphvae.cli import main

if __name__ == "__main__":
    main()
