from lgsp_kit.migrations import run_env
from services.dossier.models import Base

run_env(Base.metadata)
