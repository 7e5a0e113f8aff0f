"""Phrase banks for generated advert texts. Invented for the test world; no text comes from a real site."""

from __future__ import annotations

TITLES = {
    "nl": [
        "{name}, nieuw in {city}",
        "Gezellige {name} in {city}",
        "{name} ontvangt in {city}",
        "Lieve {name}",
    ],
    "en": [
        "{name}, new in {city}",
        "Sweet {name} in {city}",
        "{name} welcomes you in {city}",
        "Lovely {name}",
    ],
    "ro": [
        "{name}, nouă în {city}",
        "Dulce {name} din {city}",
        "{name} te așteaptă în {city}",
        "Frumoasa {name}",
    ],
    "pl": ["{name}, nowa w {city}", "Miła {name} w {city}", "{name} zaprasza w {city}", "Śliczna {name}"],
    "es": [
        "{name}, nueva en {city}",
        "Dulce {name} en {city}",
        "{name} te espera en {city}",
        "Preciosa {name}",
    ],
}

SENTENCES = {
    "nl": [
        "Hoi, ik ben {name} en ik ben net nieuw in de stad.",
        "Ik ontvang je graag in mijn rustige en schone appartement.",
        "Een afspraak maken kan alleen telefonisch, ik reageer niet op anonieme nummers.",
        "Ik ben lief, spontaan en neem altijd de tijd voor je.",
        "Parkeren kan gewoon voor de deur en het is heel discreet.",
        "Bel mij gerust voor meer informatie over de mogelijkheden.",
        "Ik werk alleen op afspraak en ben er van maandag tot en met zaterdag.",
        "Hygiëne vind ik heel belangrijk, dat verwacht ik ook van jou.",
        "Je bent van harte welkom voor een gezellig moment samen.",
        "Ik spreek Nederlands en een beetje Engels.",
    ],
    "en": [
        "Hello, my name is {name} and I am visiting the city for a short time.",
        "I welcome you in my quiet and clean private apartment.",
        "Appointments only by phone, please do not call with a hidden number.",
        "I am friendly, relaxed and I always take my time for you.",
        "There is free parking nearby and everything is very discreet.",
        "Feel free to call me if you would like to know more.",
        "I only work with appointments and I am available every day this week.",
        "Hygiene is very important to me and I expect the same from you.",
        "You are very welcome for a pleasant time together.",
        "I speak English and a little bit of German.",
    ],
    "ro": [
        "Bună, numele meu este {name} și sunt nouă în oraș.",
        "Te aștept într-un apartament liniștit și foarte curat.",
        "Programările se fac doar telefonic, nu răspund la numere ascunse.",
        "Sunt o fată drăguță, veselă și am mereu răbdare cu tine.",
        "Există parcare gratuită aproape și totul este foarte discret.",
        "Sună-mă dacă vrei să afli mai multe informații despre mine.",
        "Lucrez doar cu programare, de luni până sâmbătă.",
        "Igiena este foarte importantă pentru mine și aștept același lucru de la tine.",
        "Ești binevenit pentru un moment plăcut împreună.",
        "Vorbesc românește și puțin engleză.",
    ],
    "pl": [
        "Cześć, mam na imię {name} i jestem nowa w mieście.",
        "Zapraszam do mojego cichego i czystego mieszkania.",
        "Spotkania tylko po wcześniejszym telefonie, nie odbieram zastrzeżonych numerów.",
        "Jestem miła, spokojna i zawsze mam dla ciebie czas.",
        "Bezpłatny parking jest niedaleko i wszystko jest bardzo dyskretne.",
        "Zadzwoń do mnie, jeśli chcesz dowiedzieć się więcej.",
        "Pracuję tylko po umówieniu, od poniedziałku do soboty.",
        "Higiena jest dla mnie bardzo ważna i oczekuję tego samego od ciebie.",
        "Serdecznie zapraszam na przyjemne chwile razem.",
        "Mówię po polsku i trochę po angielsku.",
    ],
    "es": [
        "Hola, me llamo {name} y soy nueva en la ciudad.",
        "Te recibo en mi apartamento privado, tranquilo y muy limpio.",
        "Las citas solo por teléfono, no contesto números ocultos.",
        "Soy cariñosa, simpática y siempre tengo tiempo para ti.",
        "Hay aparcamiento gratis cerca y todo es muy discreto.",
        "Llámame si quieres saber más sobre mí.",
        "Trabajo solo con cita previa, de lunes a sábado.",
        "La higiene es muy importante para mí y espero lo mismo de ti.",
        "Eres bienvenido para pasar un rato agradable juntos.",
        "Hablo español y un poco de inglés.",
    ],
}

CONTACT_LINES = {
    "nl": ["Bel of app: {phone}", "Mijn nummer: {phone}", "Tel. {phone}"],
    "en": ["Call or text: {phone}", "My number: {phone}", "Phone {phone}"],
    "ro": ["Sună la {phone}", "Numărul meu: {phone}", "Tel. {phone}"],
    "pl": ["Zadzwoń: {phone}", "Mój numer: {phone}", "Tel. {phone}"],
    "es": ["Llámame al {phone}", "Mi número: {phone}", "Tel. {phone}"],
}

NAMES = [
    "Lisa",
    "Mila",
    "Eva",
    "Nina",
    "Sara",
    "Ana",
    "Maria",
    "Ola",
    "Kasia",
    "Ioana",
    "Elena",
    "Lucia",
    "Carmen",
    "Sofia",
    "Julia",
    "Emma",
    "Noor",
    "Daria",
    "Bianca",
    "Rosa",
    "Alex",
    "Sam",
    "Robin",
    "Kim",
]

CITIES = [
    "Rotterdam",
    "Den Haag",
    "Schiedam",
    "Delft",
    "Zoetermeer",
    "Dordrecht",
    "Leiden",
    "Vlaardingen",
    "Amsterdam",
    "Utrecht",
    "Rijswijk",
    "Capelle aan den IJssel",
]

CATEGORIES = ["vrouw", "man", "trans", "stel"]
