from __future__ import annotations

# Tables defined outside storage/models.py register on its Base.metadata when imported: import
# them with the package, so the metadata (migrations' check, create_all) always has every table.
from storage import support_models as _support_models  # noqa: F401
from storage import uploaded_files as _uploaded_files  # noqa: F401
