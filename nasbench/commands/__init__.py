"""One small module per command: read the inputs, call the layers below, print, return a status."""
