"""The README says what the code does: its provider table is the catalog's."""

from pathlib import Path

from django.conf import settings

from connections.setup_guide import markdown_table


def test_the_readme_provider_table_matches_the_catalog():
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    table = readme.split("<!-- providers:start -->\n", 1)[1].split("\n<!-- providers:end -->", 1)[0]
    assert table == markdown_table(), "run `manage.py provider_table` and paste it into README.md"


def test_the_readme_lists_every_webhook_event_type():
    from webhooks.events import EVENT_TYPES

    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    missing = [name for name in EVENT_TYPES if f"`{name}`" not in readme]
    assert not missing, missing


def test_the_readme_documents_every_environment_variable_the_settings_read():
    import re

    folder = Path(settings.BASE_DIR) / "portal" / "settings"
    read = set()
    for module in folder.glob("*.py"):
        read |= set(
            re.findall(
                r'(?:os\.environ\.get|os\.environ\[|env_bool|env_list)\(?"([A-Z_]+)"',
                module.read_text(),
            )
        )
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    assert len(read) > 40  # the pattern still finds what the modules read
    assert not sorted(name for name in read if f"`{name}`" not in readme)
