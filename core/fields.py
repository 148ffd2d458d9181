"""Model fields for text that comes from outside (models' answers, providers' replies).

PostgreSQL cannot store NUL in text or jsonb, and nothing can store a lone UTF-16
surrogate as UTF-8: saving either is an error *after* the work was done. These
fields write such characters as visible escapes instead (core/text.py), so a row
that holds outside text always saves (DESIGN §12 rules 17 and 20).
"""

from __future__ import annotations

from typing import Any

from django.db import models

from core.text import has_unstorable, json_is_storable, storable, storable_json


class StorableTextField(models.TextField):
    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return storable(value) if isinstance(value, str) and has_unstorable(value) else value


class StorableCharField(models.CharField):
    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return storable(value) if isinstance(value, str) and has_unstorable(value) else value


class StorableJSONField(models.JSONField):
    def get_prep_value(self, value: Any) -> Any:
        return super().get_prep_value(value if json_is_storable(value) else storable_json(value))
