"""Built-in rule plugins, each registered through the ``xinfang.plugins`` entry-point group."""
