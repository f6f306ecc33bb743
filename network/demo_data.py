"""Who and what is in the demo region Waalrand: its organisations, demo accounts and students,
and who registers each school's students. All made up (see :mod:`network.demo`, which seeds
them through the same services the views use).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from network.models import OrganisationType, Role, SchoolLevel

T = OrganisationType


@dataclass(frozen=True)
class DemoOrganisation:
    key: str
    name: str
    type: OrganisationType
    gemeente: str
    brin: str | None = None
    kvk: str | None = None
    oin: str | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    organisation: str  #: DemoOrganisation.key
    role: Role
    title: str


@dataclass(frozen=True)
class DemoStudent:
    school: str  #: DemoOrganisation.key
    first_name: str
    last_name: str
    date_of_birth: dt.date
    level: SchoolLevel
    programme: str
    city: str
    postcode: str
    address: str
    #: months from the seeding day to the expected exit date
    exit_in_months: int
    with_bsn: bool = False
    #: under 18 at seeding time in the story: a parent's contact is on file
    parent_name: str | None = None
    #: the demo student account (Student.account_id)
    account_email: str | None = None


ORGANISATIONS: tuple[DemoOrganisation, ...] = (
    # the hub itself: the uitstroomcoördinator and the administrator work here
    DemoOrganisation("hub", "Schakel Waalrand", T.hub, "Waalstede", email="info@schakel-waalrand.example",
                     phone="0487 200 100", website="https://schakel-waalrand.example"),
    # schools (BRIN: two digits, two letters)
    DemoOrganisation("roc", "ROC Waalrand", T.school, "Waalstede", brin="31WR", kvk="41052877",
                     email="info@rocwaalrand.example", phone="0487 300 300", website="https://rocwaalrand.example"),
    DemoOrganisation("linde", "Lindecollege mbo", T.school, "Linderveen", brin="27LC", kvk="41063215",
                     email="info@lindecollege.example", phone="0488 410 410", website="https://lindecollege.example"),
    DemoOrganisation("vso", "VSO De Brug", T.school, "Waalstede", brin="20BR",
                     email="info@vsodebrug.example", phone="0487 250 250"),
    DemoOrganisation("pro", "Praktijkschool Bergakker", T.school, "Bergakker", brin="24PB",
                     email="info@praktijkschoolbergakker.example", phone="0486 330 330"),
    # gemeenten (OIN: 00000001 + RSIN + 0000, all made up)
    DemoOrganisation("gem_waalstede", "Gemeente Waalstede", T.gemeente, "Waalstede",
                     oin="00000001809912340000", email="jongeren@waalstede.example", phone="14 0487"),
    DemoOrganisation("gem_linderveen", "Gemeente Linderveen", T.gemeente, "Linderveen",
                     oin="00000001809923450000", email="werk@linderveen.example", phone="14 0488"),
    DemoOrganisation("gem_bergakker", "Gemeente Bergakker", T.gemeente, "Bergakker",
                     oin="00000001809934560000", email="info@bergakker.example", phone="14 0486"),
    # partners
    DemoOrganisation("uwv", "UWV Waalstede", T.uwv, "Waalstede", oin="00000001809945670000",
                     phone="088 898 9000"),
    DemoOrganisation("wsp", "Werkgeversservicepunt Waalrand", T.wsp, "Waalstede",
                     email="wsp@waalrand.example", phone="0487 222 333"),
    DemoOrganisation("rmc", "RMC Waalrand", T.rmc, "Waalstede", email="rmc@waalstede.example",
                     phone="0487 222 444"),
    DemoOrganisation("sbb", "SBB regio Waalrand", T.sbb, "Linderveen", phone="088 338 0000"),
    DemoOrganisation("lwl", "Leerwerkloket Waalrand", T.leerwerkloket, "Waalstede",
                     email="leerwerkloket@waalrand.example"),
    DemoOrganisation("mee", "MEE Waalrand", T.mee, "Linderveen", kvk="41070114",
                     email="info@meewaalrand.example", phone="0488 600 600"),
    DemoOrganisation("zorg", "Zorggroep De Linde", T.zorg, "Linderveen", kvk="41083302",
                     email="jeugd@zorggroepdelinde.example", phone="0488 700 700"),
    # employers (KvK: eight digits)
    DemoOrganisation("bakkerij", "Bakkerij Van Dalen", T.werkgever, "Waalstede", kvk="62451879",
                     phone="0487 512 345"),
    DemoOrganisation("groen", "Hoveniersbedrijf Groenrijk", T.werkgever, "Linderveen", kvk="70318264",
                     phone="0488 523 456"),
    DemoOrganisation("logistiek", "Logistiek Centrum Waalhaven", T.werkgever, "Waalstede", kvk="58962031",
                     phone="0487 534 567"),
    DemoOrganisation("bergweide", "Zorgcentrum Bergweide", T.werkgever, "Bergakker", kvk="41094477",
                     phone="0486 545 678"),
)

ACCOUNTS: tuple[DemoAccount, ...] = (
    # school staff
    DemoAccount("f.elamrani@rocwaalrand.example", "Fatima El Amrani", "roc", Role.zorgcoordinator,
                "Zorgcoördinator entree"),
    DemoAccount("j.devries@rocwaalrand.example", "Joost de Vries", "roc", Role.mentor, "Mentor/SLB'er entree"),
    DemoAccount("s.bakker@rocwaalrand.example", "Sanne Bakker", "roc", Role.bpv_begeleider, "BPV-begeleider"),
    DemoAccount("r.jansen@lindecollege.example", "Ruben Jansen", "linde", Role.decaan, "Decaan"),
    DemoAccount("m.dekker@lindecollege.example", "Mirjam Dekker", "linde", Role.zorgcoordinator,
                "Zorgcoördinator"),
    DemoAccount("i.peters@vsodebrug.example", "Ingrid Peters", "vso", Role.zorgcoordinator,
                "Stagecoördinator en zorgcoördinator"),
    DemoAccount("m.hendriks@praktijkschoolbergakker.example", "Marco Hendriks", "pro", Role.mentor,
                "Mentor en jobcoach"),
    # partner staff
    DemoAccount("l.verhoeven@waalstede.example", "Lotte Verhoeven", "gem_waalstede", Role.partner_staff,
                "Jobcoach team jongeren"),
    DemoAccount("a.yilmaz@linderveen.example", "Ahmed Yilmaz", "gem_linderveen", Role.partner_staff,
                "Leerplichtambtenaar"),
    DemoAccount("k.smit@uwv-waalstede.example", "Karin Smit", "uwv", Role.partner_staff, "Arbeidsdeskundige"),
    DemoAccount("b.vanleeuwen@wsp-waalrand.example", "Bas van Leeuwen", "wsp", Role.partner_staff,
                "Accountmanager werkgevers"),
    DemoAccount("n.visser@rmc-waalrand.example", "Noor Visser", "rmc", Role.partner_staff,
                "Trajectbegeleider RMC"),
    # the hub
    DemoAccount("e.mulder@schakel-waalrand.example", "Eva Mulder", "hub", Role.coordinator, "Uitstroomcoördinator"),
    DemoAccount("t.bos@schakel-waalrand.example", "Tom Bos", "hub", Role.hub_admin, "Beheerder"),
    # a student with an account of their own (linked to the Student row below)
    DemoAccount("daan.willems@student.rocwaalrand.example", "Daan Willems", "roc", Role.student, "Student entree"),
)

STUDENTS: tuple[DemoStudent, ...] = (
    DemoStudent("roc", "Daan", "Willems", dt.date(2007, 3, 14), SchoolLevel.entree, "Entree medewerker logistiek",
                "Waalstede", "6611 AB", "Dijkstraat 12", 7, with_bsn=True,
                account_email="daan.willems@student.rocwaalrand.example"),
    DemoStudent("roc", "Yasmina", "Bouzid", dt.date(2008, 9, 2), SchoolLevel.entree, "Entree assistent bakker",
                "Waalstede", "6612 CD", "Molenweg 3", 8, with_bsn=True, parent_name="Karima Bouzid"),
    DemoStudent("roc", "Kevin", "Hermsen", dt.date(2006, 11, 21), SchoolLevel.mbo2, "Medewerker groen",
                "Linderveen", "6621 EF", "Kerkpad 7", 5),
    DemoStudent("roc", "Lisa", "van den Berg", dt.date(2007, 6, 30), SchoolLevel.mbo2, "Helpende zorg en welzijn",
                "Bergakker", "6631 GH", "Lindelaan 41", 10, with_bsn=True),
    DemoStudent("linde", "Mohammed", "Aydin", dt.date(2006, 1, 9), SchoolLevel.mbo3, "Logistiek teamleider",
                "Linderveen", "6622 JK", "Stationsstraat 18", 6),
    DemoStudent("linde", "Emma", "Kuipers", dt.date(2007, 12, 5), SchoolLevel.mbo2, "Facilitair medewerker",
                "Linderveen", "6623 LM", "Beukenhof 2", 11, with_bsn=True),
    DemoStudent("linde", "Jesse", "Martens", dt.date(2005, 4, 17), SchoolLevel.mbo4, "Allround medewerker ICT",
                "Waalstede", "6613 NP", "Havenkade 9", 4),
    DemoStudent("vso", "Sem", "Gerritsen", dt.date(2008, 2, 26), SchoolLevel.vso, "Uitstroomprofiel arbeid",
                "Waalstede", "6614 RS", "Schoolstraat 22", 7, with_bsn=True, parent_name="Anja Gerritsen"),
    DemoStudent("vso", "Noa", "Timmermans", dt.date(2009, 7, 11), SchoolLevel.vso, "Uitstroomprofiel arbeid",
                "Bergakker", "6632 TV", "Heideweg 5", 13, parent_name="Peter Timmermans"),
    DemoStudent("pro", "Milan", "Claassen", dt.date(2008, 10, 3), SchoolLevel.pro, "Praktijkroute groen",
                "Bergakker", "6633 WX", "Akkerstraat 16", 9, with_bsn=True, parent_name="Saskia Claassen"),
    DemoStudent("pro", "Sara", "Koster", dt.date(2009, 5, 19), SchoolLevel.pro, "Praktijkroute horeca",
                "Bergakker", "6634 YZ", "Dorpsplein 1", 14, parent_name="Wendy Koster"),
    DemoStudent("pro", "Thijs", "Wouters", dt.date(2008, 8, 8), SchoolLevel.pro, "Praktijkroute schoonmaak",
                "Waalstede", "6615 BC", "Rivierstraat 30", 6, with_bsn=True, parent_name="Hans Wouters"),
)

#: for each school, the staff member who registers its demo students
REGISTRARS = {
    "roc": "f.elamrani@rocwaalrand.example",
    "linde": "m.dekker@lindecollege.example",
    "vso": "i.peters@vsodebrug.example",
    "pro": "m.hendriks@praktijkschoolbergakker.example",
}
