"""operations: the scheduler's heartbeat, and an index for each job's last runs (issue 23)

Revision ID: c3d9e5f1a284
Revises: b6c2d8e4f173
Create Date: 2026-12-08 14:00:00

Nothing told anyone when the one scheduler process had stopped. It now renews a heartbeat row;
/readyz/scheduler, `schakel doctor`, /metrics and the dashboards read it with each job's last
start, success and failure (the index answers those without reading every job run).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c3d9e5f1a284'
down_revision = 'b6c2d8e4f173'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'scheduler_heartbeat',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('host', sa.String(length=200), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('beat_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduler_heartbeat')),
    )
    op.create_index(op.f('ix_scheduler_heartbeat_beat_at'), 'scheduler_heartbeat', ['beat_at'], unique=False)
    op.create_index('ix_job_run_job_outcome_started', 'job_run', ['job_id', 'outcome', 'started_at'], unique=False)


def downgrade():
    op.drop_index('ix_job_run_job_outcome_started', table_name='job_run')
    op.drop_index(op.f('ix_scheduler_heartbeat_beat_at'), table_name='scheduler_heartbeat')
    op.drop_table('scheduler_heartbeat')
