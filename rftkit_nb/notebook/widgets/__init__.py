"""The notebook's interactive widgets (anywidget), one module each; import a widget by its module path."""
