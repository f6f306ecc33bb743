"""The sociale kaart's event names: audit tags of its entries, categories and imports, and which
audit tags record the domain event it announces. See :mod:`network.events`.

The tag values are stored in the hash-chained audit log: never change one.
"""

from __future__ import annotations

from network.events import DomainEvent, EventTag


class SocialmapTag(EventTag):
    service_create = "socialmap:service:create"
    service_update = "socialmap:service:update"
    service_capacity = "socialmap:service:capacity"
    service_verify = "socialmap:service:verify"
    service_verify_request = "socialmap:service:verify-request"
    service_export = "socialmap:service:export"
    #: the company side of an employer entry (places, adaptations, functions, ...) changed
    employer_update = "socialmap:employer:update"
    category_save = "socialmap:category:save"
    import_stage = "socialmap:import:stage"
    import_cancel = "socialmap:import:cancel"
    import_confirm = "socialmap:import:confirm"
    import_hsds = "socialmap:import:hsds"


#: the domain event the sociale kaart announces (network.signals; partners subscribe to it as a
#: webhook) and the audit tags that record the same change in the log
AUDITED_AS: dict[DomainEvent, tuple[EventTag, ...]] = {
    DomainEvent.socialmap_service_changed: (SocialmapTag.service_create, SocialmapTag.service_update,
                                            SocialmapTag.service_capacity, SocialmapTag.employer_update),
}
