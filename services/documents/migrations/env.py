from lgsp_kit.migrations import run_env
from services.documents.models import Base

run_env(Base.metadata)
